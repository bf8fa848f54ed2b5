// swift-tools-version:6.1
// A program that uses SER as a library: what the README's "Library" section shows, built and run by
// `make test` (so CI proves the README's Swift compiles and works).
import PackageDescription

let package = Package(
    name: "QuickStart",
    platforms: [.macOS(.v14)],
    dependencies: [
        // In your own package: .package(url: "https://github.com/OWNER/ser.git", from: "0.2.0", traits: [])
        // `traits: []` leaves out SER's HTTP service, so Hummingbird and SwiftNIO are not even cloned.
        .package(path: "../ser", traits: []),
    ],
    targets: [
        .executableTarget(name: "QuickStart", dependencies: [.product(name: "SpeechEmotion", package: "ser")]),
    ]
)
