"""The laboratory on top of the codec: the seed paper's figures (:mod:`.figures`), the report of
decoding in time (:mod:`.progressive`), the demo (:mod:`.demo`) and the rate–distortion and
speed harness with its registry of reference codecs (:mod:`.bench`).

It needs the ``lab`` extra (matplotlib, scikit-image, SciPy; the harness's Dask and the
reference codecs' bindings come with the ``bench`` extra): ``pip install 'spikecodec[lab]'``.
"""
