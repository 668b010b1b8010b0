"""Spiking (Brian2) cortex models. Brian2 is imported only by the modules that build a network,
never by ``params`` modules, so validating a spiking config does not need it."""
