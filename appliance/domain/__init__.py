"""Pure domain logic: dataclasses and functions, standard library only, no I/O."""
