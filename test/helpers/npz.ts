export * from '../../services/exporter/npz.js';
