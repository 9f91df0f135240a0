"""The local web page: DFU File Manager and DfuSe Demo in the browser (layer: gui, beside
``pydfuse.cli`` and above ``pydfuse.ops``).

``dfuse gui`` starts :class:`pydfuse.gui.server.GuiServer`: a Starlette application served by
uvicorn on 127.0.0.1, a random port and a random access token in the URL, with plain HTML, CSS
and JavaScript from ``static/`` (no build step). The page calls the same ``pydfuse.ops`` and
``pydfuse.formats`` functions as the command line; device work runs on one worker thread and
reports progress as server-sent events. Needs the ``gui`` extra (``pip install pydfuse[gui]``);
nothing here is imported by other commands.
"""
