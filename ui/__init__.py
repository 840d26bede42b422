"""Streamlit pieces shared by the pages: navigation catalog, sidebar, image input, errors."""
