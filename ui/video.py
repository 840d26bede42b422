"""Video on a page: the upload, which of its frames a job reads, and the annotated video
that comes back, with its download.

Decoding, planning and encoding are ``core.media.video``'s. An upload is probed once per
file and kept in the user's session only; the job writes to a private file of the session
(``core.runtime.files``), removed when a new job starts or the session ends.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.media.video import (
    MAX_EVERY,
    OUTPUT_SIDES,
    VIDEO_EXTENSIONS,
    FrameWork,
    VideoInfo,
    VideoJob,
    VideoPlan,
    VideoTooLong,
    ordinal,
    plan_video,
    probe_video,
)
from core.runtime.errors import UserError
from core.runtime.files import PrivateFolder
from core.runtime.jobs import JobHandle
from ui import state
from ui.fields import bounded_number
from ui.image_input import UPLOAD_LIMIT_MB

ORIGINAL = "its own size"


def video_upload(key: str) -> tuple[bytes, VideoInfo] | None:
    """A video file, probed once per file; None, with the reason, until there is a usable one."""
    upload = st.file_uploader(
        "Upload a video",
        type=list(VIDEO_EXTENSIONS),
        key=f"{key}-upload",
        help=f"MP4, MOV, WebM, AVI or MKV, up to {UPLOAD_LIMIT_MB} MB.",
    )
    if upload is None:
        st.info("Upload a video to run on it; the annotated video comes back, with its tracks.")
        return None
    slot = state.SessionValue[tuple[str, Any]](f"{key}-probed")
    probed = slot.get()
    if probed is None or probed[0] != upload.file_id:
        try:
            probed = (upload.file_id, probe_video(upload.getvalue()))
        except UserError as error:
            probed = (upload.file_id, str(error))
        slot.set(probed)
    info = probed[1]
    if isinstance(info, str):
        st.error(info, icon=":material/videocam_off:")
        return None
    st.caption(
        f"In use: **{upload.name}**: {info.width}×{info.height}, {info.frames:,} frames at "
        f"{float(info.fps):.3g} frames/s ({info.duration_s:,.1f} s), {info.codec}."
    )
    return upload.getvalue(), info


def video_plan(info: VideoInfo, key: str) -> VideoPlan | None:
    """The first seconds, every k-th frame and the size to work at; over the work budget, the
    reason and one button per setting that fits."""
    seconds_column, every_column, side_column = st.columns(3)
    whole = max(1, round(info.duration_s + 0.5))
    seconds = bounded_number(
        "First seconds", 1, whole, whole, key=f"{key}-seconds", where=seconds_column, help="How much of the video."
    )
    every = bounded_number(
        "Every k-th frame", 1, MAX_EVERY, 1, key=f"{key}-every", where=every_column, help="1: every frame."
    )
    sides = [side for side in OUTPUT_SIDES if side < max(info.width, info.height)]
    side = side_column.selectbox(
        "Longer side (pixels)",
        [ORIGINAL, *reversed(sides)],
        index=1 if sides and max(info.width, info.height) > 640 else 0,
        key=f"{key}-side",
        help="Frames are scaled to this before the model sees them and in the video that comes back.",
    )
    if seconds is None or every is None:
        return None
    try:
        return plan_video(info, seconds=seconds, every=every, side=None if side == ORIGINAL else side)
    except VideoTooLong as refusal:
        st.error(str(refusal))
        offers = [
            (f"First {refusal.seconds:,} s", f"{key}-seconds", refusal.seconds),
            (f"Every {ordinal(refusal.every or 1)} frame", f"{key}-every", refusal.every),
            (f"{refusal.side} px", f"{key}-side", refusal.side),
        ]
        for column, (label, widget, value) in zip(st.columns(3), [offer for offer in offers if offer[2]]):
            column.button(label, key=f"{widget}-fit", on_click=_set_widget, args=(widget, value))
    except UserError as error:
        st.error(str(error))
    return None


def _set_widget(key: str, value: object) -> None:
    st.session_state[key] = value


def video_job(work: FrameWork[Any], data: bytes, plan: VideoPlan) -> VideoJob[Any]:
    """The job, writing to a new private file of this session."""
    folder = state.PRIVATE_FOLDER.setdefault(PrivateFolder)
    return VideoJob(work, data, plan, folder.new_file(".mp4"))


def forget_video(handle: JobHandle[Any]) -> None:
    """Remove the last job's video file (a ``JobView.before_start``)."""
    handle.job.output.delete()


def show_video(handle: JobHandle[Any], key: str, file_name: str) -> None:
    """The annotated video as far as the job got, and its download."""
    job: VideoJob[Any] = handle.job
    if not handle.steps or not job.output.path.exists():
        return
    st.video(job.output.path)
    st.download_button(
        "Annotated MP4",
        job.output.path.read_bytes,
        file_name,
        "video/mp4",
        on_click="ignore",
        icon=":material/download:",
        key=f"{key}-mp4",
    )
