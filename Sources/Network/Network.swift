// Neural-network layers with explicit forward and backward passes. Placeholder until the network module lands.
/// Namespace for network layers.
public enum Network {}
