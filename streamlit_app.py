"""CNN Lab: the entry script. Page config, navigation by course section, shared sidebar."""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from core.runtime.device import server_memory_release
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


def main() -> None:
    st.set_page_config(page_title="CNN Lab", page_icon=":material/grid_on:", layout="wide")
    server_memory_release()  # freed pages kept while work runs, given back every 30 s
    page = build_navigation()
    render_sidebar()
    page.run()


main()
