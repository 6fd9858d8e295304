import ArgumentParser

@main
struct NonRootAdmission: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nonroot-admission",
        abstract: "Predict the kubelet's runAsNonRoot failures at admission time.",
        discussion: """
            A pod with runAsNonRoot: true whose image runs as root, or declares a non-numeric USER, \
            is admitted and then stuck in CreateContainerConfigError. nonroot-admission applies the \
            kubelet's rules to the image's USER before the pod is created.
            """,
        subcommands: [Replay.self, Check.self]
    )
}
