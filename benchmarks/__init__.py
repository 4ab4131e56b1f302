"""`make bench`: load benchmarks of the running assistant (see README "Benchmarks")."""
