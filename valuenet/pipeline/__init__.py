"""Pipeline wiring: the faust app, its topics, both agents, the tick timer and the stage assembly."""
