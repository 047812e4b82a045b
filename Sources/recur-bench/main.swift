RecurBench.main()
