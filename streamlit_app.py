"""CNN Lab: the entry script. Page config, navigation by course section, shared sidebar."""

from __future__ import annotations

import threading

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from core.runtime.device import keep_freed_pages, keep_releasing_memory
from ui.catalog import HOME, SECTIONS, pages_in
from ui.sidebar import render_sidebar


def build_navigation() -> StreamlitPage:
    """The menu: home first, then each course section that has a working page."""
    menu: dict[str, list[st.Page]] = {"": [st.Page(HOME.script, title=HOME.title, icon=HOME.icon, default=True)]}
    for section in SECTIONS:
        pages = [st.Page(page.script, title=page.title, icon=page.icon) for page in pages_in(section)]
        if pages:
            menu[section] = pages
    return st.navigation(menu)


@st.cache_resource(show_spinner=False)
def memory_release() -> threading.Event:
    """Freed pages kept while work runs, and one thread per server that gives them back to
    the system (``core.runtime.device``)."""
    keep_freed_pages()
    return keep_releasing_memory()


def main() -> None:
    st.set_page_config(page_title="CNN Lab", page_icon=":material/grid_on:", layout="wide")
    memory_release()
    page = build_navigation()
    render_sidebar()
    page.run()


main()
