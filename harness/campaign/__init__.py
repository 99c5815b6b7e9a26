"""The layer that ties the engine (``harness.run``) and the outputs (``harness.report``) together: one experiment
(run, judge, write), a suite of them, a comparison of two Dapr versions, and each case's binaries. Only this
package and ``harness.cli`` import both."""
