"""The helpdesk itself: records, identity, audit and the web app. No Rasa imports here."""
