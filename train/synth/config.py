"""Config section `synth`: the built-in synthetic subject (owned by train/synth)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SynthConfig:
    """How `python -m train.synth` renders the procedural head into an IMavatar folder."""

    resolution: int = 512
    """Square image size in pixels."""
    n_train_frames: int = 600
    """Frames in each training video (`data.train_videos`)."""
    n_test_frames: int = 150
    """Frames in each test video (`data.test_videos`; expressions and poses not seen in training)."""
    seed: int = 0
    """Seed for the motion and appearance generators."""
    fps: float = 25.0
    """Clock of the motion generator (frames per second); lower it to pack more motion into few frames."""
    focal: float = 3.2
    """Normalised focal length |fx| = fy (pixels / resolution); written with negative fx."""
    camera_translation: tuple[float, float, float] = (0.02, -0.06, -4.0)
    """world_mat translation t of the training videos (camera centre = -t)."""
    test_camera_translation: tuple[float, float, float] = (-0.03, -0.07, -4.15)
    """world_mat translation t of the test videos."""
    supersample: int = 1
    """Render at supersample x resolution per axis and box-filter down (anti-aliased, soft edges;
    2 costs ~4x: the 512 px subject uses 1 to stay within its 10-minute budget)."""
    batch_frames: int = 4
    """Frames rendered together in one batch (one work item of a worker)."""
    workers: int = 2
    """Worker processes rendering batches in parallel (each single-threaded; 1 = in-process)."""
    hair_shells: int = 4
    """Number of nested, semi-transparent hair shells offset from the scalp."""
    hair_thickness: float = 0.09
    """Offset of the outermost hair shell along the scalp normal (world units)."""
    hair_strands: float = 90.0
    """Strands per full turn around the head in the hair alpha pattern."""
    head_rotation: tuple[float, float, float] = (0.22, 0.45, 0.12)
    """Training amplitude (rad) of the head rotation about x (pitch), y (yaw), z (roll)."""
    neck_share: float = 0.6
    """Fraction of the head rotation carried by the neck joint (the rest by the global pose)."""
    jaw_open: float = 0.32
    """Training maximum of the jaw opening (rad about x)."""
    gaze: tuple[float, float] = (0.2, 0.35)
    """Training amplitude (rad) of the eye rotation about x (up/down) and y (sideways)."""
    expression_scale: float = 1.0
    """Training amplitude of the expression coefficients (procedural head units)."""
    test_scale: float = 1.35
    """Test videos reach this multiple of the training amplitudes (head, jaw, gaze, expressions)."""
    motion_frequency: tuple[float, float] = (0.08, 0.45)
    """Range (Hz) of the sinusoid frequencies the smooth motions are summed from."""
    wrinkle_strength: float = 0.45
    """Darkening of the forehead wrinkles at full brow raise."""
    specular: float = 0.35
    """Blinn-Phong specular weight of skin (eyes, lips and teeth scale it)."""
    light_direction: tuple[float, float, float] = (0.45, 0.55, 1.0)
    """Direction towards the fixed light (world space; normalised on use)."""
    background_top: tuple[float, float, float] = (0.36, 0.46, 0.58)
    """Background colour (sRGB) at the top image row; not white, the loader composites over white."""
    background_bottom: tuple[float, float, float] = (0.16, 0.2, 0.27)
    """Background colour (sRGB) at the bottom image row."""
    depth_scale: float = 10000.0
    """gt/depth PNG value per world unit of camera distance (16 bit; 0 = no head surface)."""
    contact_sheet_frames: int = 12
    """Frames shown in `<root>/contact_sheet.png`."""

    def validate(self) -> None:
        if self.resolution < 16:
            raise ValueError(f"synth.resolution must be >= 16; got {self.resolution}")
        if self.n_train_frames < 1 or self.n_test_frames < 1:
            raise ValueError("synth.n_train_frames and synth.n_test_frames must be >= 1")
        if self.fps <= 0 or self.focal <= 0:
            raise ValueError(f"synth.fps and synth.focal must be > 0; got {self.fps}, {self.focal}")
        for name in ("camera_translation", "test_camera_translation"):
            if getattr(self, name)[2] >= -1.0:
                raise ValueError(f"synth.{name}[2] must be < -1 (camera in front of the head); got {getattr(self, name)}")
        if self.supersample < 1 or self.batch_frames < 1 or self.workers < 1:
            raise ValueError("synth.supersample, synth.batch_frames and synth.workers must be >= 1")
        if self.hair_shells < 0 or self.hair_thickness <= 0:
            raise ValueError("synth.hair_shells must be >= 0 and synth.hair_thickness > 0")
        if not 0.0 <= self.neck_share <= 1.0:
            raise ValueError(f"synth.neck_share must be in [0, 1]; got {self.neck_share}")
        lo, hi = self.motion_frequency
        if not 0 < lo <= hi:
            raise ValueError(f"synth.motion_frequency must be 0 < low <= high; got {self.motion_frequency}")
        if self.test_scale < 1.0:
            raise ValueError(f"synth.test_scale must be >= 1 (test motion beyond training); got {self.test_scale}")
        if self.depth_scale <= 0 or self.contact_sheet_frames < 1:
            raise ValueError("synth.depth_scale must be > 0 and synth.contact_sheet_frames >= 1")
