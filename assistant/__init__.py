"""Answering: retrieve chunks, build a grounded prompt, generate with a local model, and run the chat."""

from ingest import AssistantError, ModelError, ScoredChunk, Settings

from .chat import Assistant, ChatSession, Reply
from .generate import ChatModel, LlamaChatModel, Message, load_chat_model
from .model_files import PACKAGED_MODELS, available_models, packaged_model_path, resolve_chat_model
from .prompt import NOT_FOUND, SYSTEM_PROMPT, Prompt, build_messages, cited_numbers, format_source, is_refusal
from .remote_model import OpenAICompatibleChatModel
from .retrieve import Retrieval, retrieve

__all__ = [
    # prompt building
    "NOT_FOUND",
    "PACKAGED_MODELS",
    "SYSTEM_PROMPT",
    # the chat
    "Assistant",
    # shared
    "AssistantError",
    # generation
    "ChatModel",
    "ChatSession",
    "LlamaChatModel",
    "Message",
    "ModelError",
    "OpenAICompatibleChatModel",
    "Prompt",
    "Reply",
    # retrieval
    "Retrieval",
    "ScoredChunk",
    "Settings",
    "available_models",
    "build_messages",
    "cited_numbers",
    "format_source",
    "is_refusal",
    "load_chat_model",
    "packaged_model_path",
    "resolve_chat_model",
    "retrieve",
]
