"""Stage-1 rendering: rays, inverse deformation, level-set hits, shading, compositing."""
