"""Streamlit pages of the OneMap dashboard (UI only; logic lives in layers/ and geo/)."""
