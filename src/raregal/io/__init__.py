"""Reading and writing: tables in every format (``tables``), atomic writes (``atomic``) and the
run folder, the contract between the stages (``runfolder``)."""

from raregal.io.tables import read_table, write_table

__all__ = ["read_table", "write_table"]
