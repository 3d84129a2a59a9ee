import BallastCLI

await BallastCommand.runAsRoot()
