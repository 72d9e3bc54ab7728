from watchdesk.cli import main

main()
