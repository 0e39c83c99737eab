"""Full screens: the board (the default screen) and those pushed over it."""
