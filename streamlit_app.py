"""The Streamlit app: chat with evidence first and clickable citations, a document library, and study mode.

A thin UI: retrieval, prompting and generation live in `assistant/`, ingestion in `ingest/`; the pages are in
`assistant/app/` (chat, library, study, the sidebar, the evidence views). Everything from a document or the model is
escaped before it is shown (`safe_markdown`), and uploaded names never become paths.
"""

from __future__ import annotations

import logging
import sys

import streamlit as st

from assistant import hostcheck
from assistant.app import chats
from assistant.app.chat_page import chat_view
from assistant.app.library_page import library_view
from assistant.app.services import current_store, make_assistant, services
from assistant.app.sidebar import VIEWS, show_status, sidebar
from assistant.app.study_page import study_view
from assistant.chat import ChatSession
from assistant.ui import safe_markdown
from ingest import (
    AssistantError,
    Settings,
    printable,
    setting_origins,
)

log = logging.getLogger("streamlit_app")


# The page ----------------------------------------------------------------------------------------------


def main() -> None:
    for key, default in {"messages": [], "upload_reports": [], "upload_round": 0}.items():
        st.session_state.setdefault(key, default)
    st.markdown("### Local document assistant")
    st.caption("Answers come only from your documents, with the page they came from. Nothing leaves this machine.")
    base = services().settings
    chats.from_address(base)  # a reload reopens the chat in the address
    settings, chat_list_place = sidebar(base)
    store = current_store(settings)
    show_status(settings, store)
    if "chat" not in st.session_state:
        st.session_state.chat = ChatSession(make_assistant(settings, store))
    chats.follow_collection(settings)  # each collection shows its own chat
    view = st.segmented_control("View", VIEWS, default="Chat", key="view", required=True, label_visibility="collapsed")
    if view == "Library":
        library_view(settings, store)
    elif view == "Study":
        study_view(settings, store)
    else:
        chat_view(settings, store)
    chats.chat_list(settings, chat_list_place)  # last, so it lists a chat begun by this run's question


def run() -> None:
    st.set_page_config(page_title="Local document assistant", layout="wide")
    try:
        main()
    except AssistantError as exc:
        st.error(safe_markdown(str(exc)))
    except Exception as exc:  # the app's outermost edge: show a plain message, never a traceback
        log.exception("Unexpected error")
        st.error(safe_markdown(f"Something went wrong: {type(exc).__name__}: {exc}. Details are in the app's log."))


if __name__ == "__main__":  # Streamlit runs the page as __main__ for each session (and AppTest does too)
    run()
else:  # `streamlit run` imports this file to find the app it serves: this page, behind the Host/Origin check
    for line in setting_origins():  # said once, at start-up, in the terminal that started the app
        print(f"settings: {printable(line)}", file=sys.stderr)
    app = st.App(__file__, middleware=hostcheck.middleware(Settings().allowed_hosts))
