from costcalc.cli import main

main()
