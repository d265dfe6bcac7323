"""The built-in synthetic subject: the procedural head rendered with a rich, exactly known
appearance into an IMavatar-layout folder (`python -m train.synth -c <config>`).

Public interface:
* `build_subject(cfg, force=False, progress=True) -> Path` (train.synth.subject)
* `make_motion(cfg.synth, n_frames, expression_names, split, video_index) -> Motion` (train.synth.motion)
* `SubjectRenderer(model, cfg.synth).render(expression, pose, K, w2c) -> Frames` and
  `.layer_meshes(expression, pose)` (train.synth.render): the head + hair shell meshes
* `build_hair_shells(...) -> HairShells`, `hair_alpha(...)` (train.synth.hair, .appearance)
"""
