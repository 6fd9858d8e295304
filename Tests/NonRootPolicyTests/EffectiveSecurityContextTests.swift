import AdmissionModel
@testable import NonRootPolicy
import Testing

struct EffectiveSecurityContextTests {
    @Test func containerFieldsWinOverPodFields() {
        let pod = PodSecurityContext(runAsUser: 0, runAsGroup: 5, runAsNonRoot: true, windowsOptions: WindowsSecurityContextOptions(runAsUserName: "podUser"))
        let container = SecurityContext(runAsUser: 1000, runAsNonRoot: false)
        let effective = EffectiveSecurityContext(pod: pod, container: container)
        #expect(effective == EffectiveSecurityContext(runAsUser: 1000, runAsGroup: 5, runAsNonRoot: false, runAsUserName: "podUser"))
    }

    @Test func podOnlyAndContainerOnly() {
        #expect(EffectiveSecurityContext(pod: PodSecurityContext(runAsNonRoot: true), container: nil) == EffectiveSecurityContext(runAsNonRoot: true))
        #expect(EffectiveSecurityContext(pod: nil, container: SecurityContext(runAsUser: 7)) == EffectiveSecurityContext(runAsUser: 7))
        #expect(EffectiveSecurityContext(pod: nil, container: nil) == EffectiveSecurityContext())
    }

    @Test func windowsRunAsUserNameMergesPerField() {
        let pod = PodSecurityContext(windowsOptions: WindowsSecurityContextOptions(runAsUserName: "ContainerAdministrator"))
        let container = SecurityContext(windowsOptions: WindowsSecurityContextOptions(hostProcess: false))
        #expect(EffectiveSecurityContext(pod: pod, container: container).runAsUserName == "ContainerAdministrator")
        let override = SecurityContext(windowsOptions: WindowsSecurityContextOptions(runAsUserName: "ContainerUser"))
        #expect(EffectiveSecurityContext(pod: pod, container: override).runAsUserName == "ContainerUser")
    }
}
