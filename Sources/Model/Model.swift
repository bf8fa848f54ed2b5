// The STA-CNN model. Placeholder until the model module lands.
import SERNetwork
import SERFeatures
/// Namespace for the model.
public enum Model {}
