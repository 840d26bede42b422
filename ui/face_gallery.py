"""Where a session's face gallery lives: in the session only, or in the operator's database
(``CNNLAB_FACE_DB``: a SQLite file, or a ``postgresql://`` URL for replicas on several
machines) under the owner's key, with a fall-back to memory when it cannot be used."""

from __future__ import annotations

import os
import secrets

import streamlit as st

from core.faces.gallery import Gallery, GalleryStore, describe_location, open_store
from core.runtime.errors import UserError
from ui import state

FACE_DB_ENV = "CNNLAB_FACE_DB"  # a SQLite file or a PostgreSQL URL: galleries outlive the session, one per user
SHARED_GALLERY_ENV = "CNNLAB_FACE_DB_SHARED"  # "1": everyone shares one team gallery in that file
KEY_BYTES = 12  # a private gallery key: 96 random bits, URL-safe base64


@st.cache_resource(show_spinner=False)
def face_store(location: str) -> GalleryStore:
    return open_store(location)


def stored() -> bool:
    """Whether this instance keeps galleries in a database."""
    return bool(os.environ.get(FACE_DB_ENV))


def gallery_owner() -> str:
    """Whose gallery this session sees in the operator's database: the team's when shared,
    the signed-in user's, or the one opened with this session's private key."""
    if os.environ.get(SHARED_GALLERY_ENV) == "1":
        return "team"
    if getattr(st.user, "is_logged_in", False) and st.user.get("email"):
        return f"user:{st.user.email}"
    return "key:" + state.GALLERY_KEY.setdefault(lambda: secrets.token_urlsafe(KEY_BYTES))


def current_gallery() -> Gallery:
    """The session's gallery; with ``CNNLAB_FACE_DB`` set, the owner's gallery in that file,
    read again on every run. When the file cannot be opened, or fails later, the session
    keeps what it holds in memory and the page says so."""
    path = os.environ.get(FACE_DB_ENV)
    gallery = state.GALLERY.get()
    if path and (gallery is None or (gallery.store is not None and gallery.owner != gallery_owner())):
        try:
            gallery = Gallery(face_store(path), gallery_owner())
        except UserError as error:
            st.error(f"{error} This session keeps its gallery in memory.")
            gallery = gallery or Gallery()
    elif gallery is None:
        gallery = Gallery()
    else:
        gallery.refresh()
    if gallery.unsaved_reason:
        st.warning(gallery.unsaved_reason, icon=":material/sd_card_alert:")
    state.GALLERY.set(gallery)
    return gallery


def where_faces_live() -> str:
    path = os.environ.get(FACE_DB_ENV)
    if not path:
        return "Your gallery lives in this browser session only: nothing about faces is written to disk."
    if os.environ.get(SHARED_GALLERY_ENV) == "1":
        return f"This instance keeps one gallery shared by the whole team, in {describe_location(path)}."
    return f"This instance keeps galleries in {describe_location(path)}; you see only yours."
