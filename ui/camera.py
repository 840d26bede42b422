"""The live browser camera on a page (streamlit-webrtc): Start and Stop, the camera's frames
going to the server and coming back drawn, and the measured rate and latency.

Each session keeps its own ``core.media.live.LiveStream``; the page tells it what to do with
each frame on every run, so settings changed while it streams apply to the next frame. A
connection that brings no frame within ``CONNECT_TIMEOUT_S`` says why.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st
import torch

from core.media.live import ICE_SERVERS_ENV, LiveStream, ice_servers
from core.media.video import FrameWork
from core.runtime.errors import UserError
from ui import state

CONNECT_TIMEOUT_S = 10
CAMERA = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False}


def live_camera(key: str, work: FrameWork[Any], device: torch.device) -> None:
    """The camera's stream through ``work``, with its measurements below it. The WebRTC
    component is set up only once the visitor opens the camera."""
    opened = state.SessionValue[bool](f"{key}-open")
    if not opened.get(False):
        st.button(
            "Open the live camera",
            icon=":material/videocam:",
            key=f"{key}-open-button",
            on_click=opened.set,
            args=(True,),
        )
        return
    st.button(
        "Close the camera",
        icon=":material/videocam_off:",
        key=f"{key}-close-button",
        on_click=opened.set,
        args=(False,),
    )
    try:
        servers = ice_servers()
    except UserError as error:
        st.error(str(error))
        return
    _stream(key, work, device, servers)


def _stream(key: str, work: FrameWork[Any], device: torch.device, servers: list[dict[str, Any]]) -> None:
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    stream = state.SessionValue[LiveStream](f"{key}-stream").setdefault(lambda: LiveStream(device))
    stream.use(work)

    async def newest_frame(frames):
        return stream.process(frames)

    context = webrtc_streamer(
        key=key,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": servers},
        media_stream_constraints=CAMERA,
        queued_video_frames_callback=newest_frame,
        async_processing=True,
    )
    started = state.SessionValue[float](f"{key}-started")
    if context.state.signalling or context.state.playing:
        started.setdefault(time.monotonic)
        _measurements(stream, started.get(), bool(servers))
    else:
        started.pop()
        st.caption("Start: your browser asks to use its camera; the frames go to this server and come back drawn.")


@st.fragment(run_every=1.0)
def _measurements(stream: LiveStream, started: float, has_ice_servers: bool) -> None:
    """Redrawn every second while the camera is on."""
    stats = stream.stats()
    if stats.frames == 0:
        if time.monotonic() - started > CONNECT_TIMEOUT_S:
            across = "" if has_ice_servers else f" and none is configured ({ICE_SERVERS_ENV})"
            st.warning(
                f"No frame has come through in {CONNECT_TIMEOUT_S} s. Between two networks the browser and the "
                f"server need a STUN or TURN server to reach each other{across}; a browser also needs HTTPS to "
                "share its camera with anything but localhost. Stop, and ask the operator, or try on the same network."
            )
        else:
            st.caption("Connecting…")
        return
    st.caption(
        f"{stats.frames:,} frames answered · {stats.fps:.1f} frames/s · {stats.latency_ms:.0f} ms on the server "
        f"per frame · {stats.dropped:,} dropped while the server was busy (the newest frame goes first)"
    )
