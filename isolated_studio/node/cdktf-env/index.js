// isolated-studio: preloaded into every Node.js process that `npx cdktf ...` starts in this
// project (node-options in .npmrc): the cdktf CLI, and the jsii runtime of the app it runs.
//
// cdktf reports every command to checkpoint-api.hashicorp.com unless CHECKPOINT_DISABLE is set
// (cdktf-cli 0.21 sendTelemetry). From a machine without internet each command then logs
// "[ERROR] default - getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com", and with internet a
// tool meant for an isolated environment calls home. Off unless the user set it; Terraform,
// which cdktf starts with this environment, reads the same variable for its own checkpoint.
if (process.env.CHECKPOINT_DISABLE === undefined) {
  process.env.CHECKPOINT_DISABLE = "1";
}
