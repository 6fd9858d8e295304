import Testing
@testable import WebhookServer

struct ContentTypeTests {
    @Test(arguments: [
        "application/json", "Application/JSON", "application/json; charset=utf-8", " application/json ",
        "\tapplication/json;charset=UTF-8", "APPLICATION/JSON;",
    ])
    func json(_ contentType: String) {
        #expect(ReviewRouter.isJSON(contentType))
    }

    @Test(arguments: [
        "", "application/jsonx", "application/json-patch+json", "text/json", "application/ json", "application/jso",
        "application/yaml", "application/json\u{0}", "applicatiön/json",
    ])
    func notJSON(_ contentType: String) {
        #expect(!ReviewRouter.isJSON(contentType))
    }
}

struct RequestPathTests {
    @Test(arguments: [
        ("/validate", "/validate"), ("/validate?timeout=10s", "/validate"), ("/validate/enforce?", "/validate/enforce"),
        ("?a=b", ""), ("/v?a?b", "/v"), ("/välidate?x", "/välidate"), ("", ""),
    ])
    func pathDropsTheQuery(uri: String, path: String) {
        #expect(ReviewRouter.path(of: uri) == path)
    }
}

struct ByteBudgetTests {
    @Test func largeRequestsShareThreeQuartersAndSmallOnesTheRest() {
        let budget = ByteBudget(limit: 1000)
        #expect(budget.largeLimit == 750)
        #expect(budget.reserve(700, large: true))
        #expect(!budget.reserve(100, large: true))  // 800 > 750 for large requests
        #expect(budget.reserve(250, large: false))  // small ones may use the rest
        #expect(!budget.reserve(100, large: false))  // 1050 > 1000
        #expect(budget.inUse == 950)
        budget.release(700, large: true)
        #expect(budget.inUse == 250)
        // A small request that grows past the bound moves its bytes to the large share.
        #expect(budget.promote(250))
        #expect(budget.reserve(500, large: true))  // 750 large
        #expect(!budget.reserve(1, large: true))
        #expect(budget.reserve(250, large: false))
        budget.release(750, large: true)
        budget.release(250, large: false)
        #expect(budget.inUse == 0)
        #expect(budget.reserve(750, large: true))
    }

    @Test func aRefusedReservationHoldsNothing() {
        let budget = ByteBudget(limit: 100)
        #expect(budget.reserve(90, large: false))
        #expect(!budget.reserve(20, large: true))
        #expect(budget.inUse == 90)
        #expect(budget.reserve(10, large: false))
        #expect(budget.reserve(0, large: true))
    }
}
