/// Namespace for reports.
public enum Reports {}
