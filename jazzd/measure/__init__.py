"""Measuring the player from the outside: the rig (a JACK client that does nothing but send and
receive at exact frames) and `jazzd bench --timing`. Needs jackd (JACK-Client comes with jazzd)."""
