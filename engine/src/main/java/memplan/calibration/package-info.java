/**
 * The {@code cpu} device model measured on the machine it runs on: probes through the CPU backend's kernels, the
 * fit of their times to per-op-class throughputs, and a per-machine cache of the result.
 */
package memplan.calibration;
