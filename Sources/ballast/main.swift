import BallastCLI

await BallastCommand.main()
