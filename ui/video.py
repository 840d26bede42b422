"""Video on a page: the upload, which of its frames a job reads, and the annotated video
that comes back, with its download.

Decoding, planning and encoding are ``core.media.video``'s. An upload is probed once per
file and kept in the user's session only; the job writes to a private file of the session
(``core.runtime.files``), removed when a new job starts or the session ends.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from ui.jobs import JobView, Render, run_job

ORIGINAL = "its own size"


@dataclass(frozen=True)
class ChosenVideo:
    """An upload with what it holds, and the part of it a job reads (None: the settings do
    not fit, the page said why)."""

    data: bytes
    info: VideoInfo
    plan: VideoPlan | None


def chosen_video(key: str) -> ChosenVideo | None:
    """The upload and its settings; None, with the reason, until there is a usable video."""
    upload = video_upload(key)
    return None if upload is None else ChosenVideo(*upload, video_plan(upload[1], key))


def video_upload(key: str) -> tuple[bytes, VideoInfo] | None:
    """A video file, probed once per file; None, with the reason, until there is a usable one."""
    upload = st.file_uploader(
        "Upload a video",
        type=list(VIDEO_EXTENSIONS),
        key=f"{key}-upload",
        help=f"MP4, MOV, WebM, AVI or MKV, up to {UPLOAD_LIMIT_MB} MB.",
    )
    if upload is None:
        st.info("Upload a video: it comes back drawn on, frame by frame.")
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


def video_job_view(
    key: str, start: str, kept: str, file_name: str, result: Render, live: Render | None = None
) -> JobView:
    """How a page shows a video job: while it runs, ``live``; then the video as far as it
    got, with its download, and ``result``. A new job's Start removes the last one's file."""

    def shown(handle: JobHandle[Any]) -> None:
        show_video(handle, key, file_name)
        result(handle)

    return JobView(key=key, start=start, kept=kept, result=shown, live=live, before_start=forget_video)


def run_video_job(view: JobView, work: FrameWork[Any] | None, video: ChosenVideo) -> None:
    """``run_job`` for ``work`` on the chosen video (nothing to start while either is missing)."""
    ready = work is not None and video.plan is not None
    folder = state.PRIVATE_FOLDER.setdefault(PrivateFolder)
    run_job(view, VideoJob(work, video.data, video.plan, folder) if ready else None)


def forget_video(handle: JobHandle[Any]) -> None:
    """Remove the last job's video file."""
    if handle.job.output is not None:
        handle.job.output.delete()


def show_video(handle: JobHandle[Any], key: str, file_name: str) -> None:
    """The annotated video as far as the job got, and its download."""
    output = handle.job.output
    if not handle.steps or output is None or not output.path.exists():
        return
    st.video(output.path)
    st.download_button(
        "Annotated MP4",
        output.path.read_bytes,
        file_name,
        "video/mp4",
        on_click="ignore",
        icon=":material/download:",
        key=f"{key}-mp4",
    )
