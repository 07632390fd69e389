from okxbot.cli.main import run

run()
