from twisted.application.service import ServiceMaker

passerelle = ServiceMaker("passerelle", "gateway.tap", "Passerelle SMS gateway", "passerelle")
