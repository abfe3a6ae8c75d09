"""The app layer's workflows: what the CLI commands do, above every other package.

* :mod:`~edge_gru.workflows.report`: every variant of one model on every target, accuracy vs latency
  (rendered by :mod:`~edge_gru.workflows.report_render`);
* :mod:`~edge_gru.workflows.search`: architecture x precision x placement search (Optuna), summarised by
  :mod:`~edge_gru.workflows.search_report`;
* :mod:`~edge_gru.workflows.demo`: the built-in end-to-end run;
* :mod:`~edge_gru.workflows.pareto`: the one Pareto front both use; :mod:`~edge_gru.workflows.render`: the
  plots, tables and pages both draw.

Only this package and :mod:`edge_gru.cli` import :mod:`converters` and :mod:`firmware_sim` (checked by the
import contract in ``pyproject.toml``).
"""
