// Corpus loaders. Placeholder until the corpora module lands.
/// Namespace for corpora.
public enum Corpora {}
