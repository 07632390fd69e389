"""The built-in strategies: spot grid, DCA, moving-average crossover."""
