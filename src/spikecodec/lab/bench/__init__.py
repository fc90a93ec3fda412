"""The rate–distortion and speed harness: reference codecs behind one interface, run on Dask
(the ``spikecodec bench`` command is :mod:`spikecodec.cli.bench`).

- :mod:`~spikecodec.lab.bench.codecs`: the codecs (spikecodec, jpeg, mozjpeg, jpeg2000, webp, avif,
  jpegxl) and their registry; the names most callers need are re-exported here;
- :mod:`~spikecodec.lab.bench.corpus`: the dev image corpus;
- :mod:`~spikecodec.lab.bench.run`: jobs (image x codec x setting), the Dask graph that measures
  them, the resumable CSV of rows;
- :mod:`~spikecodec.lab.bench.report`: averaged curves (CompressAI JSON), BD-rate tables, RD plots
  and the speed table;
- :mod:`~spikecodec.lab.bench.timing`: wall-clock timing for the benchmarks.
"""

from .codecs import CODECS, Codec, PillowCodec, get_codec, register_codec

__all__ = ["CODECS", "Codec", "PillowCodec", "get_codec", "register_codec"]
