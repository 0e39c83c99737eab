"""Modal dialogs that ask one thing and return it with `dismiss`: forms, prompts, pickers."""
