"""jupyter_ctr: container lifecycle management for Jupyter, on runc, conmon and CRIU."""

__version__ = "0.1.0"
