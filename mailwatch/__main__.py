from mailwatch.cli import main

main()
