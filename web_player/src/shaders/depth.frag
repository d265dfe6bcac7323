#version 300 es
// depth.frag — the per-layer depth pre-pass (colour writes are masked off).
precision mediump float;
out vec4 o_color;
void main() { o_color = vec4(0.0); }
