"""Exporters: write a walked graph (costcalc.graph.Graph) as a model file of another format.

They mirror costcalc.importers: `exporters.onnx` holds one mapping table, costcalc op -> ONNX nodes, as
`importers.onnx` holds ONNX nodes -> costcalc op; a round-trip test over every shipped spec keeps them honest.
"""
