"""The Streamlit app's pages and helpers: the only place besides `streamlit_app.py` that imports streamlit.
The library never imports this package."""
